"""ddbkit"""
