import sys

from kwhen import cli

sys.exit(cli.main())
