from authsvc.cli import main

raise SystemExit(main())
