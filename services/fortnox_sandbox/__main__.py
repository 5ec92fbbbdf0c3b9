"""`python -m services.fortnox_sandbox`: the same as the `woonox-sandbox` console script."""

from services.fortnox_sandbox.app import main

main()
