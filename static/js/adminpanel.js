// Admin panel live figures: polls figures.json every 3 s, updates the numbers and redraws two small
// SVG charts with DOM APIs (no chart library, no inline styles: colours come from adminpanel.css).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var PERIOD = 3000;
  var W = 480, H = 180, LEFT = 40, RIGHT = 8, TOP = 12, BOTTOM = 24;
  var section = document.getElementById("figures");
  if (!section) {
    return;
  }
  var url = section.dataset.figuresUrl;
  var status = section.querySelector("[data-live-status]");
  var number = new Intl.NumberFormat("en-US");

  function bytes(value) {
    var units = ["B", "KB", "MB", "GB"];
    var i = 0;
    while (value >= 1024 && i < units.length - 1) {
      value /= 1024;
      i += 1;
    }
    return (i === 0 ? value : value.toFixed(1)) + " " + units[i];
  }

  function ms(value) {
    return value === null || value === undefined ? "–" : number.format(Math.round(value));
  }

  function set(name, text) {
    var node = section.querySelector('[data-figure="' + name + '"]');
    if (node && node.textContent !== text) {
      node.textContent = text;
      node.classList.remove("changed");
      void node.offsetWidth; // restart the highlight animation
      node.classList.add("changed");
    }
  }

  // A live row of the technology table (outside this section): its note and its up/down badge,
  // in the words adminpanel.figures writes them (workers_phrase).
  function live(name, text, ok) {
    var note = document.querySelector('#stack [data-figure="' + name + '"]');
    var badge = document.querySelector('#stack [data-status="' + name + '"]');
    if (note && note.textContent !== text) {
      note.textContent = text;
    }
    if (badge) {
      badge.textContent = ok ? "up" : "down";
      badge.classList.toggle("status-ok", ok);
      badge.classList.toggle("status-down", !ok);
    }
  }

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function niceMax(value) {
    if (value <= 0) {
      return 1;
    }
    var power = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i += 1) {
      if (value <= steps[i] * power) {
        return steps[i] * power;
      }
    }
    return 10 * power;
  }

  function frame(svg, max, labels) {
    while (svg.firstChild) {
      svg.removeChild(svg.firstChild);
    }
    [0, 0.5, 1].forEach(function (share) {
      var y = TOP + (H - TOP - BOTTOM) * (1 - share);
      svg.appendChild(el("line", { x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: "grid" }));
      svg.appendChild(el("text", { x: LEFT - 6, y: y + 4, class: "axis axis-y" }, number.format(max * share)));
    });
    labels.forEach(function (label) {
      svg.appendChild(el("text", { x: label.x, y: H - 6, class: "axis axis-x" }, label.text));
    });
  }

  function clock(seconds) {
    var date = new Date(seconds * 1000);
    return String(date.getHours()).padStart(2, "0") + ":" + String(date.getMinutes()).padStart(2, "0");
  }

  function drawTweets(svg, hours) {
    var max = niceMax(Math.max.apply(null, hours.map(function (h) { return h.count; })));
    var slot = (W - LEFT - RIGHT) / hours.length;
    var labels = [0, 6, 12, 18, hours.length - 1].map(function (i) {
      return { x: LEFT + slot * (i + 0.5), text: i === hours.length - 1 ? "now" : clock(hours[i].start) };
    });
    frame(svg, max, labels);
    hours.forEach(function (hour, i) {
      var height = (H - TOP - BOTTOM) * hour.count / max;
      var bar = el("rect", {
        x: LEFT + slot * i + 2, y: H - BOTTOM - height, width: Math.max(slot - 4, 1), height: height,
        rx: 2, class: "bar" + (i === hours.length - 1 ? " bar-now" : ""), "data-value": hour.count,
      });
      bar.appendChild(el("title", {}, clock(hour.start) + ": " + number.format(hour.count) + " tweets"));
      svg.appendChild(bar);
    });
  }

  function drawLatency(svg, buckets) {
    var values = [];
    buckets.forEach(function (b) {
      if (b.p99 !== null) {
        values.push(b.p99);
      }
    });
    var max = niceMax(values.length ? Math.max.apply(null, values) : 0);
    var slot = (W - LEFT - RIGHT) / buckets.length;
    var labels = [0, 4, 8, buckets.length - 1].map(function (i) {
      return { x: LEFT + slot * (i + 0.5), text: i === buckets.length - 1 ? "now" : clock(buckets[i].start) };
    });
    frame(svg, max, labels);
    if (!values.length) {
      svg.appendChild(el("text", { x: (W + LEFT) / 2, y: H / 2, class: "empty" }, "No fan-outs in the last hour yet"));
      return;
    }
    var lines = el("g", {});
    var dots = el("g", {});
    svg.appendChild(lines);
    svg.appendChild(dots);
    ["p50", "p95", "p99"].forEach(function (key) {
      var points = [];
      buckets.forEach(function (b, i) {
        if (b[key] !== null) {
          var x = LEFT + slot * (i + 0.5);
          var y = TOP + (H - TOP - BOTTOM) * (1 - b[key] / max);
          points.push(x.toFixed(1) + "," + y.toFixed(1));
          var dot = el("circle", { cx: x, cy: y, r: 3.5, class: "dot dot-" + key });
          dot.appendChild(el("title", {}, key + " " + ms(b[key]) + " ms (" + b.samples + " fan-outs from " + clock(b.start) + ")"));
          dots.appendChild(dot);
        }
      });
      if (points.length > 1) {
        lines.appendChild(el("polyline", { points: points.join(" "), class: "line line-" + key }));
      }
    });
  }

  function render(data) {
    set("users", number.format(data.users));
    set("tweets", number.format(data.tweets));
    set("follows", number.format(data.follows));
    set("feeds", number.format(data.feeds.count));
    set("feeds_memory", bytes(data.feeds.memory_bytes) + (data.feeds.memory_sampled ? " (sampled)" : ""));
    set("redis_memory", bytes(data.feeds.redis_used_memory));
    set("queue_depth", number.format(data.queue_depth));
    set("open_sockets", number.format(data.open_sockets));
    set("p50", ms(data.fanout.p50));
    set("p95", ms(data.fanout.p95));
    set("p99", ms(data.fanout.p99));
    set("samples", number.format(data.fanout.samples));
    live("workers", data.services.workers + (data.services.workers === 1 ? " worker" : " workers") + " online",
      data.services.workers > 0);
    drawLatency(document.getElementById("latency-chart"), data.fanout.buckets);
    drawTweets(document.getElementById("tweets-chart"), data.tweets_per_hour);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        render(data);
        section.dataset.state = "live";
        status.textContent = "Live · updated " + new Date().toLocaleTimeString("en-GB");
      })
      .catch(function () {
        section.dataset.state = "stale";
        status.textContent = "Figures unavailable, retrying";
      })
      .then(function () {
        window.setTimeout(poll, PERIOD);
      });
  }

  poll();
})();
