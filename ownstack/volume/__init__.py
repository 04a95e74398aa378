"""The volume service (Cinder's Block Storage v3 API) and its volume agent."""
