from ssl_pretrain.cli import main

raise SystemExit(main())
