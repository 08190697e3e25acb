"""IAM: least-privilege bind policies, resource and endpoint policies."""
