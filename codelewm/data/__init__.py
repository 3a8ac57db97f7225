"""codelewm.data"""
