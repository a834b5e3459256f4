"""Application services: the operations billing staff perform, each audited and transactional."""
