from .httpcore import arm_error


class Executor:
    def __init__(self, app):
        self.app = app

    def reset(self):
        pass

    def shutdown(self):
        pass

    def dump(self):
        return {}

    def handle(self, req, segs=None):
        return arm_error(501, "NotImplemented", "not yet")

    handle_basic = handle
    score = handle
