def handler(event, context):
    return {"time": event.get("time")}
