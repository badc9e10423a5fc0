from bench.capacity.doc import main

raise SystemExit(main())
