"""Image v2's JSON schemas: the documents ``GET /v2/schemas/*`` publishes, and the
validators of request bodies, built from the same property tables so that what is
published is what is enforced."""
