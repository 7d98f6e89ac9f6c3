"""The embedded AWS: moto on 127.0.0.1, resources made from template.yaml, handlers run in process."""
