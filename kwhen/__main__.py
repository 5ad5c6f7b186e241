import sys

from kwhen.cli import main

sys.exit(main())
