"""``DirectUpdate``: a row written straight to a live_segment (or data_in) event type.

The worker turns it into ``{"_direct": event_type_name, "row": payload}``, the same shape the
JavaScript sandbox's ``DirectUpdate(eventType, row)`` returns.
"""


class DirectUpdate(object):
    __slots__ = ("event_type_name", "payload")

    def __init__(self, event_type_name, payload):
        self.event_type_name = event_type_name
        self.payload = payload

    def to_dict(self):
        return {"_direct": self.event_type_name, "row": self.payload}

    def __eq__(self, other):
        return (
            isinstance(other, DirectUpdate)
            and other.event_type_name == self.event_type_name
            and other.payload == self.payload
        )

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "DirectUpdate(%r, %r)" % (self.event_type_name, self.payload)


__all__ = ["DirectUpdate"]
