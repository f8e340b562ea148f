/** Seed 001's texts, as the seed gives them: shared by the tests that walk it through (API and console). */

/** Step 3: the live segment's JSON Schema, string-escaped with \r\n as the seed posts it. */
export const SEED_SEGMENT_SCHEMA =
  '{\r\n    "type": "object",\r\n    "title": "The root schema",\r\n    "description": "This is a sample json for testing the live segment.",\r\n    "required": [\r\n        "id",\r\n        "firstName",\r\n        "lastName"\r\n    ],\r\n    "properties": {\r\n        "id": {\r\n            "type": "integer"\r\n        },\r\n        "firstName": {\r\n            "type": "string",\r\n            "default": "325"\r\n        },\r\n        "lastName": {\r\n            "type": "string",\r\n            "default": "325"\r\n        }\r\n    },\r\n    "additionalProperties": true\r\n}';

// Seed 001, step 5: the belt's fields, with the callback of the seed's code listing (the
// `extractorFn` string in the seed's body has two statements on one line, a syntax error).
export const SEED_CALLBACK = [
  'import json',
  'import sys',
  'from time import time',
  'import logging',
  'import math',
  'from grnry_belt.models.direct_update import DirectUpdate',
  '',
  'def execute(event_headers, event_payload, profile = None):',
  '    update = []',
  "    correlation_id= event_headers['grnry-correlation-id']",
  '    directPayload = {',
  "    'id': str(correlation_id),",
  "    'firstName':  str(event_payload['firstName']),",
  "    'lastName':  str(event_payload['lastName'])",
  '    }',
  "    directUpdate = DirectUpdate('livesegment-dataoutp',directPayload)",
  '    update.append(directUpdate)',
  '    return update',
].join('\r\n');
