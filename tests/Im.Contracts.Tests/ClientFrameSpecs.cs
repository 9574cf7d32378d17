namespace Im.Contracts.Tests;

/// <summary>A client's frame read once into the closed set a session acts on.</summary>
public sealed class ClientFrameSpecs
{
    [Fact]
    public void Should_read_a_ping() => Assert.IsType<ClientFrame.Ping>(ClientFrame.Read("""{"type":"ping"}"""));

    [Fact]
    public void Should_read_a_send_with_its_fields_and_client_msg_id()
    {
        var send = Assert.IsType<ClientFrame.SendMessage>(
            ClientFrame.Read("""{"type":"send_message","group_id":"g1","content":"你好","client_msg_id":"c-1"}"""));

        Assert.Equal("c-1", send.ClientMsgId);
        Assert.Null(send.Parsed.Error);
        Assert.Equal(("g1", "你好", "c-1", MessageTypes.Text),
            (send.Parsed.Value!.GroupId, send.Parsed.Value.Content, send.Parsed.Value.ClientMsgId, send.Parsed.Value.MsgType));
    }

    [Fact]
    public void Should_keep_a_sends_refusal_for_after_the_send_rate()
    {
        var send = Assert.IsType<ClientFrame.SendMessage>(ClientFrame.Read("""{"type":"send_message","group_id":"g1","content":" ","client_msg_id":"c-2"}"""));

        Assert.Equal(ErrorCodes.ContentEmpty, send.Parsed.Error?.Code);
        Assert.Equal("c-2", send.ClientMsgId);
    }

    [Fact]
    public void Should_read_an_ai_stop()
    {
        var stop = Assert.IsType<ClientFrame.AiStop>(ClientFrame.Read("""{"type":"ai_stop","record_id":"record_1"}"""));

        Assert.Equal("record_1", stop.Parsed.Value!.RecordId);
        Assert.Equal(ErrorCodes.InvalidParameter,
            Assert.IsType<ClientFrame.AiStop>(ClientFrame.Read("""{"type":"ai_stop"}""")).Parsed.Error?.Code);
    }

    [Fact]
    public void Should_refuse_text_holding_a_lone_surrogate_as_no_frame()
    {
        // A raw UTF-16 surrogate (not a JSON escape): the text itself is not Unicode. Kept out of InlineData, which would mend it.
        var refused = Assert.IsType<ClientFrame.Refused>(ClientFrame.Read("{\"type\":\"ping\",\"note\":\"\ud800\"}"));

        Assert.Equal(ErrorCodes.InvalidFrame, refused.Error.Code);
    }

    [Theory]
    [InlineData(null, ErrorCodes.InvalidFrame, null)]
    [InlineData("not json", ErrorCodes.InvalidFrame, null)]
    [InlineData("""{"type":"ping","type":"ping"}""", ErrorCodes.InvalidFrame, null)]
    [InlineData("""["ping"]""", ErrorCodes.InvalidFrame, null)]
    [InlineData("""{"type":1,"client_msg_id":"c0"}""", ErrorCodes.InvalidFrame, "c0")]
    [InlineData("""{"type":"dance","client_msg_id":"c9"}""", ErrorCodes.UnknownType, "c9")]
    public void Should_refuse_what_is_no_frame_of_this_server(string? text, string code, string? clientMsgId)
    {
        var refused = Assert.IsType<ClientFrame.Refused>(ClientFrame.Read(text));

        Assert.Equal(code, refused.Error.Code);
        Assert.False(string.IsNullOrWhiteSpace(refused.Error.Message));
        Assert.Equal(clientMsgId, refused.ClientMsgId);
    }
}
