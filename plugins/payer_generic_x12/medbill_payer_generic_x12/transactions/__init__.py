"""Transaction sets, each in both directions: domain model -> X12 text -> domain model."""
