"""The register: individual migrant workers (protected) and aggregate population groups."""
