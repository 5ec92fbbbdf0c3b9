"""The Fortnox sandbox: a Fortnox API v3 emulator for demos, staging, tests and benchmarks.

    app.py          create_app() / main(): wiring (FastAPI app, /3 fast path, uvicorn)
    api.py          every /3 call: token, faults, rate limit, route, scope, body check, handler, journal
    oauth.py        /oauth-v1/auth (auto-approving consent) and /oauth-v1/token
    admin.py        /_sandbox/...: companies, journal, faults, settings (test only, no auth)
    resources/      one module per family of Fortnox resources, each registering its endpoints
    arithmetic.py   Net, VAT per rate, TotalVAT, RoundOff, Total
    validation.py   openapi.json (packaged copy) and its known gaps; bodycheck.py the fast request check
    state.py, runtime.py, persistence.py, journal.py, faults.py, ratelimit.py, tokens.py

docs/sandbox.md describes the behaviour, the endpoints covered and the deviations.
"""
