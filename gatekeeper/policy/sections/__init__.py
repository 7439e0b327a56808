"""The policy's sections, one module per part of policy.yaml."""
