import sys

from gencor.cli import main

sys.exit(main())
