"""The boto3 versions this instrumentor supports (checked by ``BaseInstrumentor``).

boto3 rather than botocore: ``opentelemetry-instrumentation-botocore`` declares botocore, and our
distro stands down other vendors' instrumentors for the libraries we declare. We trace only
Bedrock Runtime; the contrib instrumentor's spans for S3, SQS and the rest must stay. The Converse
API arrived in boto3 / botocore 1.34.116.
"""

_instruments = ("boto3 >= 1.34.116, < 2",)
