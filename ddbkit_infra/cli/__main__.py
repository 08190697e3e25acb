"""python -m ddbkit_infra.cli: the same as the ddbkit console script."""

from ddbkit_infra.cli import main

main()
