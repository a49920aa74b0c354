"""The recipients of security events (`authsvc.events`), each an `Observer`.

security_log.py writes them as JSON log lines, metrics.py counts them, audit_log.py stores those
about an account in the database; fan_out.py hands each event to every recipient an app has and
is the one place that decides which those are.
"""
