"""`python -m payforward`, the same as the `payforward` console script."""

from payforward.cli import main

main()
