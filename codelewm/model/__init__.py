"""codelewm.model"""
