def handler(event, context):
    return {"handled": len(event["Records"])}
