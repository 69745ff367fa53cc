"""The existing web client's workspaces paths (SPEC §3.9): thin views over this app's services, with the
client's envelopes; included after the SPEC paths, before the catch-all."""

urlpatterns: list = []
