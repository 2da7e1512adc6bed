from wmbench.cli import main

raise SystemExit(main())
