"""ddbkit_infra"""
