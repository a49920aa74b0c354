"""E-mail: settings, templates, the durable outbox and the sender that drains it."""
