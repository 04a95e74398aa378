"""The Linux network driver: bridges, taps, namespaces, dnsmasq and nftables."""
