"""The Linux network driver: bridges, taps, namespaces, dnsmasq, nftables and the metadata
proxies, driven through pyroute2 and argument lists."""
