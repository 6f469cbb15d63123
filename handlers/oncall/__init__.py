"""On call: the rotation, SLA targets, paging, durable timers and the /oncall command."""
