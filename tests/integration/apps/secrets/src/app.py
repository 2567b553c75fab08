import hashlib
import os


def handler(event, context):
    password = os.environ["DB_PASSWORD"]
    # A careless function printing its secret: the platform must mask it in the logs.
    print(f"connecting with password={password} and key={os.environ['API_KEY']}")
    return {
        "password_sha256": hashlib.sha256(password.encode()).hexdigest(),
        "api_key_sha256": hashlib.sha256(os.environ["API_KEY"].encode()).hexdigest(),
        "plain": os.environ["PLAIN"],
    }


def fails(event, context):
    raise RuntimeError(f"could not connect with {os.environ['DB_PASSWORD']}")
