"""Instance metadata: the documents a guest reads (config drive and metadata service) and
Nova's metadata service on port 8775, which serves them to the network side's proxies."""
