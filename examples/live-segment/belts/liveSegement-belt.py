import json
import sys
from time import time
import logging
import math
from grnry_belt.models.direct_update import DirectUpdate

def execute(event_headers, event_payload, profile = None):
    update = []
    correlation_id= event_headers['grnry-correlation-id']
    directPayload = {
    'id': str(correlation_id),
    'firstName':  str(event_payload['firstName']),
    'lastName':  str(event_payload['lastName'])
    }
    directUpdate = DirectUpdate('livesegment-dataoutp',directPayload)
    update.append(directUpdate)
    return update
