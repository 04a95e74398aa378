"""The network service (Neutron's Networking v2.0 API) and, later, its agent."""
