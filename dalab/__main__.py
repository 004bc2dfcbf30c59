import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while Python starts: one line, no traceback
    print("dalab: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
