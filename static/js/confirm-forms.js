// Forms that change something for good ask first: <form data-confirm="question">. Without
// JavaScript they submit straight away (staff pages only: the question is a safety net, not a gate).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (!window.confirm(form.dataset.confirm)) event.preventDefault();
});
