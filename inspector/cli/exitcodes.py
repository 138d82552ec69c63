"""Exit codes scripts can rely on (documented in the README)."""

OK = 0  # run completed, every inspected image OK (or: command succeeded)
DEFECTS = 1  # run completed, at least one NG or REVIEW verdict
USAGE = 2  # bad arguments, missing model/recipe/source, invalid recipe
FATAL = 3  # the run could not complete: DB unreachable, backend failure, disk full
UNREADABLE = 4  # run completed, no NG/REVIEW, but some parts got an ERROR verdict (not fully inspected)
INTERRUPTED = 130  # stopped by Ctrl-C / SIGTERM; everything committed so far is kept
