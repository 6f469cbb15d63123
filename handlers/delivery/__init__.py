"""The durable edges: raw updates in (inbox), outbound messages out (outboxes), leases."""
