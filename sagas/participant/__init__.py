"""The toolkit every participant imports: idempotency records, outbox, event bus, fault points, refusals, money."""
