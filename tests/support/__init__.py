"""What the tests share, one concern a module.

settings   secrets, `make_settings`, a hand-moved clock
http       the client side of the API: password, CSRF header, register/login, cookie parsing
apps       the app in-process: settings -> app with its lifespan -> httpx client over ASGI
processes  the real `authsvc serve` / CLI as child processes on loopback
polling    `eventually()`: wait, bounded, for something another task or process does
stores     the SQLite/PostgreSQL databases storage tests run against, and a migrated `store`
           on them (a pytest plugin)
fakes      an in-memory `Store`
keys       asymmetric test keys
scrape     parsing a `/metrics` answer
"""
