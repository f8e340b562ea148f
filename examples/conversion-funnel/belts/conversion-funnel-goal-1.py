import json
import sys

def execute(event):
    if event:
        try:
            update = {
                "_id":  event['payloadid']['correlationid'],
                "_path": [
                    "conversionfunnel",
                    "goal-1"
                ],
                "_value": {
                    "_v": event['payloadid']['created']
                }
            }
            return update
        except KeyError:
            sys.stderr.write('key error')
            return None
