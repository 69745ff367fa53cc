"""The AI proxy (SPEC §6): the editor's AI features reach OpenAI and Anthropic through the server, which keeps
the keys, meters usage and enforces quotas and rate limits. It reads documents and context files, so it lives
above them; users' keys and usage are `accounts` models."""
