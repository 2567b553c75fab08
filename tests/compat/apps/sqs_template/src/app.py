import os


def handler(event, context):
    return {"url": os.environ["JOBS_URL"], "arn": os.environ["JOBS_ARN"]}
