"""Security headers, the proxy, rate limits, the admin audit trail and the nginx deployment."""
