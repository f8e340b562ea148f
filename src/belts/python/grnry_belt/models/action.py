"""``Action``: an outside action (e.g. a webhook) a belt asks for, run once per event, belt and action.

The worker turns it into ``{"_action": name, "payload": payload}``, the same shape the
JavaScript sandbox's ``Action(name, payload)`` returns.
"""


class Action(object):
    __slots__ = ("name", "payload")

    def __init__(self, name, payload=None):
        self.name = name
        self.payload = payload

    def to_dict(self):
        return {"_action": self.name, "payload": self.payload}

    def __eq__(self, other):
        return isinstance(other, Action) and other.name == self.name and other.payload == self.payload

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self):
        return "Action(%r, %r)" % (self.name, self.payload)


__all__ = ["Action"]
