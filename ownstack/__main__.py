import sys

from ownstack.cli import main

sys.exit(main())
