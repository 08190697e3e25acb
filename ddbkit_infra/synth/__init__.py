"""Synthesis: one table component as a CloudFormation template, with its alarms."""
